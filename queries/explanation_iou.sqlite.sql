SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, (SELECT ex.iou 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) AS ex0 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = ? AND neuron.site = ? AND (SELECT ex.iou 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) > ? ORDER BY (SELECT ex.iou 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) DESC NULLS LAST, neuron.layer ASC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'param_1': 1, 'param_2': 0, 'model_id_1': 3, 'site_1': 'mlp', 'param_3': 1, 'param_4': 0, 'param_5': 0.35, 'param_6': 1, 'param_7': 0, 'param_8': 101, 'param_9': 0}
