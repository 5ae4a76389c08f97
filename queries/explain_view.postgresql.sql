SELECT explanation.max_length, explanation.formula, explanation.length, explanation.iou, explanation.score, explanation.metric, explanation.search, explanation.run_id AS run, explanation.params 
FROM explanation 
WHERE explanation.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND neuron.layer = %(layer_1)s::INTEGER AND neuron.unit = %(unit_1)s::INTEGER) ORDER BY explanation.run_id DESC, explanation.search, explanation.metric, explanation.params_hash, explanation.max_length, explanation.id
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'layer_1': 0, 'unit_1': 0}
