SELECT explanation.max_length, explanation.formula, explanation.length, explanation.iou, explanation.score, explanation.metric, explanation.search, explanation.run_id AS run, explanation.params 
FROM explanation 
WHERE explanation.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = ? AND neuron.site = ? AND neuron.layer = ? AND neuron.unit = ?) ORDER BY explanation.run_id DESC, explanation.search, explanation.metric, explanation.params_hash, explanation.max_length, explanation.id
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'layer_1': 0, 'unit_1': 0}
