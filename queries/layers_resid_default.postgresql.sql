SELECT la.index AS layer, lb.index AS other_layer, layer_similarity.value AS value 
FROM layer_similarity JOIN layer AS la ON la.id = layer_similarity.layer_id JOIN layer AS lb ON lb.id = layer_similarity.other_layer_id 
WHERE layer_similarity.correlation_id = %(correlation_id_1)s::INTEGER AND layer_similarity.method = %(method_1)s::VARCHAR AND la.model_id = %(model_id_1)s::INTEGER AND lb.model_id = %(model_id_2)s::INTEGER AND la.site = %(site_1)s::VARCHAR AND lb.site = %(site_2)s::VARCHAR ORDER BY la.index, lb.index
-- parameters: {'correlation_id_1': 2, 'method_1': 'cka', 'model_id_1': 2, 'model_id_2': 3, 'site_1': 'resid', 'site_2': 'resid'}
